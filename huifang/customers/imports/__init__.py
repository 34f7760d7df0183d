"""Customer and event interchange with counter and CRM systems: file imports and batch API pushes."""
