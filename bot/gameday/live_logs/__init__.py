"""Live logs: lines followed from a cluster or Loki while a game day runs, filtered, redacted, cut and
batched into one thread message per interval (``batching``); the sources are ports (``sources``)
implemented at the edge (``bot/integrations/log_sources``); the timer that posts each batch is
``bot/gameday/running/live_logs``."""
