"""Domain rules of the mission service (missions, runs, wallet); no HTTP in here."""
