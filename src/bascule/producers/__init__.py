"""`bascule producers`: the producers who lost their producer space, and where their orders are."""
