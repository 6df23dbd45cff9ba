INSERT EDGE INTO kg (id = 1, source = 2, target = 3)
