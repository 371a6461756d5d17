"""The web console in a real browser (a package: its browser and app fixtures end with it)."""
