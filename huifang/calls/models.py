"""Calls (通话), their recordings and the outcome codes with their policies (回访登记)."""
