"""The scenario: its model, how a file is read and checked (lines, limits, secrets, URLs), the catalog."""
