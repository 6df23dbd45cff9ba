SELECT * FROM docs WHERE vector NEAR $v AND lang = 'en' LIMIT 10;
