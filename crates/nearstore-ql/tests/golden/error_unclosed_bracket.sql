SELECT * FROM docs WHERE vector NEAR [0.1, 0.2
