-- testing: the assertion library every Lua test uses; it is luaws.testkit (one implementation).
return require "luaws.testkit"
