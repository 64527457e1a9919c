"""Policy as code: the deployment's policy file (SCE_POLICY) says which fault types may run in which
namespaces, which images an attack pod may use, the ceilings on ttl, targets and duration, and who may
approve which fault types. ``model`` is its format, ``loading`` reads the file, ``enforcing`` says which
rule refuses a scenario or an approver. The policy only ever narrows what the rest of the configuration
allows (SCE_ALLOWED_NAMESPACES, SCE_MAX_TTL, SCE_ATTACK_IMAGES, SCE_APPROVERS); it never widens it."""
