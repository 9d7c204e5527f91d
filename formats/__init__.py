"""File formats shared by every layer: the strict JSON reader and atomic writer (:mod:`.jsonio`)."""
