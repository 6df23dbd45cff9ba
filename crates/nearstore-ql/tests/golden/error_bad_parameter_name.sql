SELECT * FROM docs WHERE vector NEAR $1
