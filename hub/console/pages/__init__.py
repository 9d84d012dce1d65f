"""The console's page handlers, one module per area; each has ``add_routes(router)``."""
