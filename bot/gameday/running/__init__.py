"""Running a game day: the engine and its parts, steps and their effects, timers, the outbox, input."""
