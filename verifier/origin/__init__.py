"""Origin analysis: inventory of a delivered tree, effective lines per file, classification
(self / third_party / generated / excluded / unknown) with evidence, and the self-developed ratio."""
