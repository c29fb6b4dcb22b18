"""Sasage (ささげ: 撮影 photography, 採寸 measurement, 原稿 copy) as tracked work."""
