-- defaults: {profile=, region=, endpoint_url=} that every new client uses when its caller gives none.
-- The facade publishes this table as aws.defaults (`luaws --profile P script.lua` fills it); it is
-- its own module so the facade stays cheap to load and the client never requires the facade.
return {}
