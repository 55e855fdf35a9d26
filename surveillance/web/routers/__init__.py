"""The web app's routers: sign-in, the case queue, case pages and actions, the dashboard."""
