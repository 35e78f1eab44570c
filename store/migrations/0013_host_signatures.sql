-- Which HTTP signature scheme each host accepts, learnt by the deliverer's
-- "double knock": '' not known yet, 'rfc9421' or 'cavage'.
ALTER TABLE hosts ADD COLUMN signature TEXT NOT NULL DEFAULT '';
