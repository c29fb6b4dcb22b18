"""Urakata (裏方): the back office an agency runs for many client shops.

The import root holds four parts, in dependency order: ``platform`` (the kernel),
``tenants`` (the work done for a shop), ``portal`` (the Flask app) and ``worker``
(RQ jobs). They live under one root because a top-level ``platform`` package would
shadow the standard library module of that name.
"""
