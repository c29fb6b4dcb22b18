"""Orders: intake, checks and holds, the status machine, the ship-by clock."""
