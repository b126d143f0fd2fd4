"""The mission service: missions, GPS-verified runs and a points wallet, fully instrumented."""
