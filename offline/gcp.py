"""Computed outputs and invoke results of the Google Cloud resources the program uses."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import uuid
from typing import Any

from offline.deterministic import address_in, mock_pem, seed_bytes

MOCK_GCP_PROJECT = "openedx-mock"
MOCK_GCP_REGION = "europe-west1"


MOCK_GCP_PROJECT_NUMBER = "123456789012"
MOCK_GCP_PRIVATE_SERVICES = "10.64.0.0/16"


def outputs(typ: str, name: str, inputs: dict[str, Any], allocated_ranges: dict[str, str]) -> dict[str, Any]:
    """Computed outputs of the Google Cloud resources the program uses."""
    short = hashlib.sha1(name.encode()).hexdigest()[:12]
    project = inputs.get("project", MOCK_GCP_PROJECT)
    region = inputs.get("region") or inputs.get("location") or MOCK_GCP_REGION
    resource_name = inputs.get("name") or f"{name}-{short[:7]}"  # Pulumi's autonaming: a random suffix
    outputs: dict[str, Any] = {"project": project}
    if typ not in ("gcp:projects/service:Service", "gcp:servicenetworking/connection:Connection"):
        outputs["name"] = resource_name
    collection = {
        "gcp:compute/network:Network": f"projects/{project}/global/networks",
        "gcp:compute/globalAddress:GlobalAddress": f"projects/{project}/global/addresses",
        "gcp:compute/subnetwork:Subnetwork": f"projects/{project}/regions/{region}/subnetworks",
        "gcp:compute/router:Router": f"projects/{project}/regions/{region}/routers",
        "gcp:container/cluster:Cluster": f"projects/{project}/locations/{region}/clusters",
    }.get(typ)
    if collection:
        outputs["selfLink"] = f"https://www.googleapis.com/compute/v1/{collection}/{resource_name}"
    if typ == "gcp:compute/globalAddress:GlobalAddress" and inputs.get("address"):
        allocated_ranges[resource_name] = f"{inputs['address']}/{int(inputs.get('prefixLength', 16))}"
    elif typ == "gcp:compute/subnetwork:Subnetwork":
        cidr = inputs.get("ipCidrRange", "10.0.0.0/20")
        outputs["gatewayAddress"] = str(ipaddress.ip_network(cidr).network_address + 1)
    elif typ == "gcp:container/cluster:Cluster":
        outputs |= {
            "endpoint": address_in("34.0.0.0/8", "gke", name),
            "masterAuth": {**inputs.get("masterAuth", {}),
                           "clusterCaCertificate": base64.b64encode(mock_pem("gke-ca", name).encode()).decode()},
            "location": region,
            "labelFingerprint": short[:8],
        }
    elif typ == "gcp:container/nodePool:NodePool":
        outputs["instanceGroupUrls"] = [f"https://www.googleapis.com/compute/v1/projects/{project}/zones/{region}-{z}/"
                                        f"instanceGroupManagers/gke-{resource_name}-{short[:8]}-grp" for z in "bcd"]
    elif typ == "gcp:serviceaccount/account:Account":
        email = f"{inputs.get('accountId', name)}@{project}.iam.gserviceaccount.com"
        outputs |= {"email": email, "name": f"projects/{project}/serviceAccounts/{email}",
                    "member": f"serviceAccount:{email}",
                    "uniqueId": str(int(short, 16))}
    elif typ in ("gcp:projects/iAMMember:IAMMember", "gcp:serviceaccount/iAMMember:IAMMember",
                 "gcp:storage/bucketIAMMember:BucketIAMMember"):
        outputs = {"etag": f"BwY{short}"}
    elif typ == "gcp:servicenetworking/connection:Connection":
        outputs = {"peering": "servicenetworking-googleapis-com"}
    elif typ == "gcp:sql/databaseInstance:DatabaseInstance":
        ip_configuration = inputs.get("settings", {}).get("ipConfiguration", {})
        allocated = allocated_ranges.get(ip_configuration.get("allocatedIpRange", ""), MOCK_GCP_PRIVATE_SERVICES)
        address = address_in(allocated, "cloudsql", name)
        outputs |= {
            "connectionName": f"{project}:{region}:{resource_name}",
            "privateIpAddress": address,
            "firstIpAddress": address,
            "ipAddresses": [{"ipAddress": address, "type": "PRIVATE"}],
            "publicIpAddress": "",
            "serverCaCerts": [{"cert": mock_pem("cloudsql-ca", name), "commonName": f"C=US,O=Google\\, Inc,"
                               f"CN=Google Cloud SQL Server CA,dnQualifier={short}", "sha1Fingerprint": short}],
            "serviceAccountEmailAddress":
                f"p{MOCK_GCP_PROJECT_NUMBER}-{short[:6]}@gcp-sa-cloud-sql.iam.gserviceaccount.com",
            "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{project}/instances/{resource_name}",
        }
    elif typ == "gcp:redis/instance:Instance":
        allocated = allocated_ranges.get(inputs.get("reservedIpRange", ""), MOCK_GCP_PRIVATE_SERVICES)
        tls = inputs.get("transitEncryptionMode") == "SERVER_AUTHENTICATION"
        outputs |= {
            "host": address_in(allocated, "memorystore", name),
            "port": 6378 if tls else 6379,
            "authString": str(uuid.UUID(bytes=seed_bytes("memorystore-auth", name)[:16], version=4))
            if inputs.get("authEnabled") else "",
            "serverCaCerts": [{"cert": mock_pem("memorystore-ca", name), "serialNumber": str(int(short, 16)),
                               "sha1Fingerprint": short}] if tls else [],
            "currentLocationId": f"{region}-b",
        }
    elif typ == "gcp:storage/bucket:Bucket":
        outputs |= {"url": f"gs://{resource_name}",
                    "selfLink": f"https://www.googleapis.com/storage/v1/b/{resource_name}",
                    "projectNumber": MOCK_GCP_PROJECT_NUMBER}
    return outputs


def call(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Results of the Google Cloud invokes the program makes (None: not a Google Cloud invoke)."""
    project = args.get("projectId") or args.get("project") or MOCK_GCP_PROJECT
    if token == "gcp:organizations/getProject:getProject":
        return {"projectId": project, "number": MOCK_GCP_PROJECT_NUMBER, "name": project, "id": f"projects/{project}"}
    if token == "gcp:organizations/getClientConfig:getClientConfig":
        return {"project": project, "region": MOCK_GCP_REGION, "accessToken": "mock-access-token", "id": project}
    if token == "gcp:compute/getZones:getZones":
        region = args.get("region", MOCK_GCP_REGION)
        return {"names": [f"{region}-{zone}" for zone in "bcd"], "region": region, "project": project}
    if token.startswith("gcp:"):
        return {}
    return None

