"""The agent's evaluation set and the fixture store it is scored on."""
