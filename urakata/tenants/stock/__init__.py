"""Stock: the ledger of each shop's goods in the warehouse's bins (在庫管理, 在庫引当)."""
