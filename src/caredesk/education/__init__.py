"""Patient education: a library of materials (by condition, procedure, language and reading level),
materials assigned to patients by hand or from a care plan, their deliveries (printed, portal, e-mail),
and printable handouts."""
