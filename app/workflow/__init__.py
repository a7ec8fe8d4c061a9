"""The approval workflow: states, transitions, routes and decisions."""
