"""Inbound notices (入荷予定) and receiving."""
