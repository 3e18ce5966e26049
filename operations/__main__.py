"""`python -m operations STACK INSTANCE COMMAND [ARGS...]` (`./ops.sh`): one run of a command on an instance.

Exit codes: 0 the Job completed, 1 it failed or did not finish in time, 2 refused before anything ran (a wrong
argument, an unknown instance, a stack or cluster that cannot be read), 130 interrupted (the Job is deleted).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from operations.cli import generate_password, parser, request
from operations.clone import clone
from operations.job import build_secret, run_name
from operations.run import EXIT_INTERRUPTED, KubernetesApi, api_message, execute
from operations.stack import KubeAccess, OperationError, read_outputs

EXIT_REFUSED = 2


def connect(access: KubeAccess) -> client.ApiClient:
    """A client of the stack's cluster. A kubeconfig given as text is loaded from memory: never written out. The
    default is kubectl's: $KUBECONFIG (read now, not when the client was imported), else ~/.kube/config."""
    configuration = client.Configuration()
    if access.kubeconfig is not None:
        config.load_kube_config_from_dict(access.kubeconfig, context=access.context,
                                          client_configuration=configuration, persist_config=False)
    else:
        path = access.path or os.environ.get("KUBECONFIG") or "~/.kube/config"
        config.load_kube_config(path, context=access.context, client_configuration=configuration,
                                persist_config=False)
    return client.ApiClient(configuration)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        outputs = read_outputs(args.stack)
        instance = outputs.instance(args.instance)
        if args.command == "clone":
            target = outputs.instance(args.to)
            return clone(KubernetesApi(connect(outputs.access)), instance, target, args.backup, args.stack,
                         args.timeout, generate_password())
        try:
            wanted = request(args, instance)
        except ValueError as error:
            raise OperationError(str(error)) from None
        api = KubernetesApi(connect(outputs.access))
        cronjob = api.cronjob(instance.namespace, wanted.template)
        if wanted.before is not None:
            wanted.before(api, instance)
        job = wanted.job(cronjob, run_name(wanted.name), args.timeout)
        secret = build_secret(job, wanted.secret) if wanted.secret else None
        code = execute(api, instance.namespace, job, secret, wanted.on_success)
        if code == 0 and wanted.after is not None:
            print(wanted.after(api, instance), flush=True)
        return code
    except OperationError as error:
        message = str(error)
    except ApiException as error:
        message = f"the Kubernetes API refused: {api_message(error)}"
    except (ConfigException, HTTPError) as error:
        message = f"the cluster cannot be reached: {error}"
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    print(f"ops.sh: error: {message}", file=sys.stderr)
    return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
