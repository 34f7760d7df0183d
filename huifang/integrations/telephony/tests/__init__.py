"""Tests of the telephony adapters (no database: adapters never touch it)."""
