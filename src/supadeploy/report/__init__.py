"""Turn results into text for people, JSON for machines."""
