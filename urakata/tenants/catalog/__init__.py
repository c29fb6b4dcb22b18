"""商品情報: each shop's products, their codes, sizes and temperature zones."""
