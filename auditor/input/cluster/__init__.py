"""Reading a live cluster: discovery, paged lists, the hardened transport. The only user of the
`kubernetes` client."""
