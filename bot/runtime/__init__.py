"""The process: the HTTP server, the wiring of services, the timer service, metrics and logs."""
