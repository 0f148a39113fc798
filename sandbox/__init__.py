"""Sandbox carrier systems: one HTTP app that plays Principal's and Unum's group APIs."""
