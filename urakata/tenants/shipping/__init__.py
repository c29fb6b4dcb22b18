"""Packing, packing slips, carrier files, tracking numbers and handover (issue 15)."""
