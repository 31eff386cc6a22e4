-- harness/restjson: the rest-json reply and error readers (see harness/rest.lua).
return require("rest").harness("fixture-restjson")
