LET w = 0.7
LET boost = w * similarity() + 0.3;
SELECT * FROM docs WHERE vector NEAR $v ORDER BY boost DESC LIMIT 5
