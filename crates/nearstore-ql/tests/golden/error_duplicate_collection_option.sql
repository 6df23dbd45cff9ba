CREATE COLLECTION docs (dimension = 3, DIMENSION = 4)
