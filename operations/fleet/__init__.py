"""The fleet driver (`./fleet.sh`): the instance stacks of one platform stack, previewed, updated and shown together
through Pulumi's Automation API.

    ./fleet.sh preview FLEET_FILE [--concurrency N]   pulumi preview of every instance stack, in parallel
    ./fleet.sh up FLEET_FILE [--concurrency N]        preview then update each: the canary first, then wave by wave
    ./fleet.sh status FLEET_FILE                      last update, image, plugins and LMS URL of each instance
    ./fleet.sh remove FLEET_FILE STACK [--yes]        destroy one instance stack, then `pulumi stack rm` it

A fleet file (YAML, anywhere: stacks/ holds stack files only):

    platform: fleet-platform      # the platform stack: stacks/Pulumi.fleet-platform.yaml, openedx:layout: platform
    instances:                    # optional; default: every stack file with openedx:layout: instances and
      - fleet-a                   #   openedx:platformStack: fleet-platform, in name order, in wave 0
      - {stack: fleet-b, wave: 1} # wave 1 starts once every stack of wave 0 has finished
    concurrency: 4                # at most this many stacks at once (default 4)
    canary: 1                     # the first N stacks of the first wave update first, one at a time; if one fails,
                                  #   nothing else runs (default 0)
    stopOnFailure: false          # true: a failed stack in wave k keeps the waves after k from starting (the other
                                  #   stacks of wave k still run); a failure never stops a stack already running

Before anything runs, every instance stack's file is checked as the program would check it (its layout, its
platform stack, its settings), and no instance name or host may be used by two stacks; `up` and `preview` also
need the platform stack deployed (its `platform` output). Ctrl-C stops launching stacks and cancels the running
ones cleanly: see operations/fleet/automation.py.
"""
