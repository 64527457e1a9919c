"""What the bot talks to beside Slack and Kubernetes: PagerDuty, alert intake, hooks, HTTP calls."""
