"""End-to-end tests against a local fake Discord server."""
