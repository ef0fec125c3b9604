"""Write-back of each linked friend's LINE status to the Shopify customer as metafields."""
