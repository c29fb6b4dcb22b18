"""Stocktakes (棚卸し)."""
