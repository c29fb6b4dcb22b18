"""The shop's settings and contract with the agency (SLA terms, carriers, sender, logo)."""
