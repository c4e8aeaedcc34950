"""Open Cap Table Format (OCF): the schemas, and packages in and out of the ledger."""
