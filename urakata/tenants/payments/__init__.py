"""Payments of a shop's orders: gates per payment method, payment notices, bank deposits.

``models`` the tables; ``settings`` the shop's payment settings; ``gates`` what each
method waits for and the notices (events) that clear it; ``statements`` bank statement
import with automatic matching; ``matching`` the manual desk (match, undo, ignore);
``reminders`` the daily mail to the shop about orders still waiting.
"""
