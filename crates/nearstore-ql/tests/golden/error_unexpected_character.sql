SELECT * FROM docs WHERE x = 1 # comment
