"""Findings: what a finished game day leaves to fix (its gaps, action items, missed expectations and
missed injects), each with a stable id ``F-<n>`` and a state that moves open -> fixing -> fixed ->
verified, or to accepted-risk for a while. Pure: the store is a port (``recording.FindingPort``)."""
