"""People: the roster and rotations, who took part, mentions, who may see a game day."""
