"""Tickets for findings: a GitHub issue or a Jira issue opened for a finding, and polled until closed."""
