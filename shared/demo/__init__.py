"""`servicetrail demo`: a simulated week at a service desk, through the public APIs."""
